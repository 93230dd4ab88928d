"""The thank-you widget: a signed order reference in; its group code and share actions out."""
