"""Exports of the directory: GeoJSON, GeoJSONSeq, CSV, GeoPackage, GeoParquet.

Every format is written from batches of public rows read in id order (keyset), so memory
follows the batch, not the dataset. Columns come from the one public column list.
"""
