"""Operator and developer tools: scorer evaluation, benchmarks."""
