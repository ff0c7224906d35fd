"""The jiedao web service: settings, database, models, schemas, CRUD, layer store and API."""
