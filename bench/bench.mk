# bench/: see the module README or header for what lives here.
