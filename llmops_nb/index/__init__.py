"""Vector index: chunking (chunking.py), embeddings with a content-hash cache (embeddings.py), the usearch
`VectorIndex` with its id/metadata tables (vector.py is the public API; the modules it names hold the parts),
`SearchResults` (results.py) and retrieval with citations for grounding (retrieval.py)."""
