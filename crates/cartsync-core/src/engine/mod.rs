//! The sans-IO client sync engine (filled in by the engine work).
