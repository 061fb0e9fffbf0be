"""The OpenAPI description of the data plane, which is served outside FastAPI."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


def _errors(*statuses: int) -> dict[str, Any]:
    phrases = {
        400: "Bad request (MISSING_INSTANCE_ID, INVALID_INSTANCE_ID, INVALID_KEY, ...)",
        404: "Key or instance not found",
        405: "Method not allowed",
        409: "Instance is not active (INSTANCE_INACTIVE)",
        413: "Value too large (VALUE_TOO_LARGE)",
        507: "Storage quota exceeded (STORAGE_QUOTA_EXCEEDED)",
    }
    return {
        str(status): {
            "description": phrases[status],
            "content": {"application/json": {"schema": ERROR}},
        }
        for status in statuses
    }


INSTANCE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "X-Instance-ID",
        "in": "header",
        "required": False,
        "description": "The instance whose namespace to use (or ?instance_id=).",
        "schema": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,62}$"},
    },
    {
        "name": "instance_id",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,62}$"},
    },
]
KEY_PARAMETER = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "Any UTF-8 text of 1 to 1,024 bytes; may contain '/'.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 256},
}
KEYS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["keys"],
                "properties": {
                    "keys": {
                        "type": "array",
                        "maxItems": 1000,
                        "items": {"type": "string", "minLength": 1},
                    }
                },
            }
        }
    },
}
ENCODING = {
    "name": "encoding",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["base64"]},
}
TAGS = ["data plane (seed 001)"]

CACHE_PATHS: dict[str, Any] = {
    "/v1/cache/{key}": {
        "parameters": [KEY_PARAMETER, *INSTANCE_PARAMETERS],
        "get": {
            "tags": TAGS,
            "summary": "Read a value",
            "operationId": "cache_get",
            "responses": {
                "200": {
                    "description": "The value's bytes",
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
                **_errors(400, 404, 409),
            },
        },
        "head": {
            "tags": TAGS,
            "summary": "Does the key exist (and how large is its value)",
            "operationId": "cache_head",
            "responses": {
                "200": {"description": "It exists"},
                "404": {"description": "It does not"},
                **_errors(400, 409),
            },
        },
        "put": {
            "tags": TAGS,
            "summary": "Write a value (raw body, any bytes)",
            "operationId": "cache_put",
            "parameters": [
                {
                    "name": "X-TTL-Seconds",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 315360000},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            "responses": {"204": {"description": "Written"}, **_errors(400, 409, 413, 507)},
        },
        "delete": {
            "tags": TAGS,
            "summary": "Delete a key",
            "operationId": "cache_delete",
            "responses": {"204": {"description": "Deleted"}, **_errors(400, 404, 409)},
        },
    },
    "/v1/cache": {
        "get": {
            "tags": TAGS,
            "summary": "List the instance's keys in byte order",
            "operationId": "cache_list",
            "parameters": [
                *INSTANCE_PARAMETERS,
                {"name": "prefix", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                },
            ],
            "responses": {
                "200": {
                    "description": "A page of keys",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["instance_id", "keys", "next_cursor"],
                                "properties": {
                                    "instance_id": {"type": "string"},
                                    "keys": {"type": "array", "items": {"type": "string"}},
                                    "next_cursor": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                **_errors(400, 404, 409),
            },
        }
    },
    "/v1/cache/batch/get": {
        "post": {
            "tags": TAGS,
            "summary": "Read many keys (without an instance: the 'default' instance)",
            "operationId": "cache_batch_get",
            "parameters": [*INSTANCE_PARAMETERS, ENCODING],
            "requestBody": KEYS_BODY,
            "responses": {
                "200": {
                    "description": "Found entries and missing keys",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["entries", "missing"],
                                "properties": {
                                    "entries": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "missing": {"type": "array", "items": {"type": "string"}},
                                    "base64_keys": {"type": "array", "items": {"type": "string"}},
                                    "encoding": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                **_errors(400, 404, 409),
            },
        }
    },
    "/v1/cache/batch/set": {
        "post": {
            "tags": TAGS,
            "summary": "Write many keys, all or nothing",
            "operationId": "cache_batch_set",
            "parameters": [*INSTANCE_PARAMETERS, ENCODING],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["entries"],
                            "properties": {
                                "entries": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "How many were written",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"written": {"type": "integer"}},
                            }
                        }
                    },
                },
                **_errors(400, 404, 409, 413, 507),
            },
        }
    },
    "/v1/cache/batch/delete": {
        "post": {
            "tags": TAGS,
            "summary": "Delete many keys",
            "operationId": "cache_batch_delete",
            "parameters": INSTANCE_PARAMETERS,
            "requestBody": KEYS_BODY,
            "responses": {
                "200": {
                    "description": "How many were deleted",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"deleted": {"type": "integer"}},
                            }
                        }
                    },
                },
                **_errors(400, 404, 409),
            },
        }
    },
}
