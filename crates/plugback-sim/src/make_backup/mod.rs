//! Generates realistic phone backups: iPhone (modern and mbdb layouts, plain and
//! encrypted), Android `.ab` (versions 1–5) and Plugback Android backup folders.
