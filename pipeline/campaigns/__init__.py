"""A campaign binds the rest together: its forms (definitions and their kinds), its
roster, its calendar, paths, limits and mail settings, read from the campaign file."""
