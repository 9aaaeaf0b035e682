"""Signups from other sites: the JSON API (`POST /api/v1/signups`) and the embeddable HTML form, both through the
landing form's validation and service (funnel.landing), admitted only from SIGNUP_ALLOWED_ORIGINS."""
