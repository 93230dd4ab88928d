"""The shop's brand: what shoppers see of it on the share page, the widget and the e-mails."""
