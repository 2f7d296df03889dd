"""`python -m memerase.api > docs/openapi.json`: print the OpenAPI document generated from the code."""

import json

from memerase.api.resolver import openapi_document

print(json.dumps(openapi_document(), indent=2, sort_keys=True))
