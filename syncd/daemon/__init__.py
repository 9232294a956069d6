"""`syncd run`: scheduler, resync worker, admin HTTP and systemd notification.

Modules: `core` (`Daemon`, `DaemonConfig`), `gate` (one cycle at a time in the process),
`resync_worker` (the LISTEN/NOTIFY queue consumer), `sdnotify` (systemd's notify protocol),
`request_tap` (LiveVox request durations from the client's log events). Its settings are the
`daemon` section of `syncd.settings.Settings` (`DaemonSettings`).
"""
