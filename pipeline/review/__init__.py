"""The review server: reviewers clear the store's review queue in a browser (`formscan review`)."""

from pipeline.review.app import create_app

__all__ = ["create_app"]
