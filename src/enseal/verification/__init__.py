"""Security codes and safety numbers that people compare to verify end-to-end encryption."""
