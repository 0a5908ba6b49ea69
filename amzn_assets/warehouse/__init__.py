"""SQL over the warehouse (DuckDB over the parquet tables of the embedded default)."""
