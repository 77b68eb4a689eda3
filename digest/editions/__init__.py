"""An edition's life in one place: the pure decision of what to do with it, and the service
that every command, scheduler job, the desk and the web archive go through."""
