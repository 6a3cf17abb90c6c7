"""One module per state type; :mod:`localcloud.asl.states.base` holds the template method."""
