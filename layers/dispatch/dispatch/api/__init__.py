"""HTTP at the edge: the API resolver, problem bodies, response models and the OpenAPI document."""
