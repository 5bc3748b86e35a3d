"""The Ordos demo: real districts, towns and codes; generated communities, grids, staff and a year of
work orders played through the real services. Not a Django app (no models): ``seed.demo_seed`` is the
entry point, used by ``tongxin demo`` and by the tests. docs/demo.md says what is real and what is not.
"""
