"""lsts-sync: declarative Label Studio time-series labeling on S3."""

__version__ = "0.1.0"
