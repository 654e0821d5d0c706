"""One module per capability, each with the function that builds its report section."""

__all__: list[str] = []
