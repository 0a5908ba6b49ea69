"""IO managers behind one contract (see contract.py): parquet (local or S3) for now."""
