-- The current version of every lead record.
{{ current_version(ref('stg_lead_versions')) }}
