"""Built-in data sets: a simulated trial with known truth and real trials from installed packages."""
