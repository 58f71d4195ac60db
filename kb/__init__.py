"""Knowledge base: embedders, chunking, the Qdrant index, hybrid search and ingestion."""
