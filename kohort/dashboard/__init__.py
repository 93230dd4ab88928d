"""The merchant dashboard under /dashboard: server-rendered pages (Jinja2, the dashboard's
own catalogs), forms with post-redirect-get, every page usable without JavaScript. It calls
the services of the domains directly (kohort.dashboard_user, kohort.audit, …)."""
