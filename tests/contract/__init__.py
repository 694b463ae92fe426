"""The connector contract: one suite every connector passes (see ``adapters``)."""
