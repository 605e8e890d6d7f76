"""The pages (templates in French and English) and the static modules and CSS they load."""
