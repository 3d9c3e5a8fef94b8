"""`make bench` and friends: HTTP figures for the production server configuration (run.py),
and the benchmark's floor route (floor.py), which the product never imports."""
