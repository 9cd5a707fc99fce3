"""Datasets: loaders, immutable snapshots with lineage, curation steps."""
