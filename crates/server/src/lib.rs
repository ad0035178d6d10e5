//! Aqueduct binary library.
