"""The editor's desk: changes an editor makes to an edition, and the actions that record them."""
