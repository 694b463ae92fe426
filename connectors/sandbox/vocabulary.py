"""The values generated CRM data is drawn from, and how often each is drawn.

Why apart from the generator: names, places, industries, channels, topics, deal
stages and currencies are data, not logic; the generator draws from these
tables (weights where real CRMs are lopsided), and the stand-ins and tests read
the sandbox's home currency and exchange rates from here.
"""

from __future__ import annotations

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Klara",
    "Lukas",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quentin",
    "Rosa",
    "Simon",
    "Tara",
    "Umut",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Maria",
    "Jan",
    "Sofia",
    "Leon",
    "Lea",
    "Elias",
    "Hannah",
    "Finn",
    "Lina",
    "Tom",
    "Marie",
    "Max",
    "Laura",
    "Ali",
]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Lange",
    "Martin",
    "Dubois",
    "Rossi",
    "García",
    "Smith",
    "Jones",
    "Brown",
    "Novak",
    "Kowalski",
    "Jansen",
    "Peeters",
    "Nielsen",
    "Andersson",
    "Yilmaz",
    "O'Brien",
]
SALUTATIONS = ("Mr", "Ms", "Mx", "Dr", "Prof", "")
COUNTRIES = ("DE", "AT", "CH", "FR", "IT", "ES", "NL", "BE", "GB", "US", "PL", "SE")
COUNTRY_WEIGHTS = (30, 8, 8, 8, 6, 6, 6, 4, 8, 10, 4, 2)
INDUSTRIES = (
    "Manufacturing",
    "Retail",
    "Software",
    "Healthcare",
    "Finance",
    "Logistics",
    "Education",
    "Hospitality",
    "Construction",
    "Energy",
)
SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
SIZE_WEIGHTS = (30, 30, 20, 12, 8)
CHANNELS = ("web_form", "trade_fair", "referral", "newsletter", "cold_call", "partner", "import")
CHANNEL_WEIGHTS = (30, 10, 15, 20, 8, 10, 7)
TOPICS = ("automation", "analytics", "security", "cloud", "training", "support", "pricing")
PRODUCT_LINES = ("Core", "Pro", "Enterprise", "Services", "Training")
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP", "CHF")
#: The portal's / org's home currency and the value of one unit of each deal currency
#: in it (decimal strings, as ``[segmentation] currency_rates`` takes them).
HOME_CURRENCY = "EUR"
EXCHANGE_RATES = {"EUR": "1", "USD": "0.86", "GBP": "1.17", "CHF": "1.07"}
STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Rue de la Paix",
    "Via Roma",
    "Kerkstraat",
    "High Street",
    "Main Street",
    "Schillerplatz",
    "Am Markt",
)
CITIES = {
    "DE": ("Berlin", "München", "Köln", "Hamburg", "Leipzig"),
    "AT": ("Wien", "Graz", "Linz"),
    "CH": ("Zürich", "Genève", "Basel"),
    "FR": ("Paris", "Lyon", "Lille"),
    "IT": ("Milano", "Roma", "Torino"),
    "ES": ("Madrid", "Sevilla", "València"),
    "NL": ("Amsterdam", "Utrecht", "Rotterdam"),
    "BE": ("Bruxelles", "Antwerpen", "Gent"),
    "GB": ("London", "Leeds", "Bristol"),
    "US": ("Boston", "Denver", "Austin"),
    "PL": ("Kraków", "Łódź", "Gdańsk"),
    "SE": ("Malmö", "Göteborg", "Uppsala"),
}
STAGES = ("won", "lost", "open")
STAGE_WEIGHTS = (45, 30, 25)
DOMAINS = ("example.com", "mail.test", "post.example", "corp.example", "web.test")
COMPANY_SUFFIXES = ("GmbH", "AG", "Ltd", "SA", "BV", "Inc", "KG", "SRL")
COMPANY_WORDS = [
    "Alpen",
    "Nord",
    "Sued",
    "Blau",
    "Rot",
    "Gruen",
    "Stahl",
    "Holz",
    "Glas",
    "Licht",
    "Kraft",
    "Werk",
    "Data",
    "Logic",
    "Bau",
    "Tech",
    "Medi",
    "Agro",
    "Hanse",
    "Rhein",
    "Elbe",
    "Isar",
    "Main",
    "Ruhr",
    "Saar",
    "Spree",
    "Oder",
]
