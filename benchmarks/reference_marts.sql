-- The speed yardstick: the three core marts of CONTRACT.md (sections 3-5, 7),
-- hand-written as ONE DuckDB script straight from the landing folder. No dbt,
-- no Dagster, no load ledger, no quarantine table, no checks: just the query a
-- careful analyst would write.
--
-- No constant of the rules or of the contract's vocabularies is written here:
-- the harness (benchmarks/__main__.py) replaces
--   @SOURCE(<entity>)  by a reader over the entity's files, e.g.
--                      read_csv('<landing>/leads/*.csv', all_varchar = true, filename = true)
--   @AS_OF             by the as-of date literal, e.g. DATE '2026-11-01'
--   @RULE(<column>)    by that column of the rules row Baton builds from the rules
--                      file the benchmark runs Baton with (load_rules(...).as_config_row),
--                      a typed literal, e.g. CAST(['banking', ...] AS VARCHAR[])
--   @VOCAB(<var>)      by that vocabulary of dbt_project.yml's vars, e.g. 'closed_won'
--
-- Simplifications, all harmless on generated data (benchmarks/README.md):
-- only the `<entity>/` folders are read (not a single `<entity>.csv`); rows
-- breaking the contract are skipped rather than quarantined; within one
-- file a key is unique (the generator never repeats one).

SET TimeZone = 'UTC';
CREATE SCHEMA IF NOT EXISTS marts;

-- 1. Current version of every record (latest file wins; events: first file wins),
--    values trimmed, blank is null, typed.
CREATE TEMP TABLE leads AS
SELECT
    nullif(trim(lead_id), '') AS lead_id,
    nullif(lower(trim(email)), '') AS email,
    nullif(trim(job_title), '') AS job_title,
    nullif(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            lower(trim(company_domain)), '^[^/]*://', ''), '/.*$', ''), ':.*$', ''), '^www\.', ''),
        '') AS company_domain,
    TRY_CAST(nullif(trim(employee_count), '') AS BIGINT) AS employee_count,
    nullif(lower(trim(industry)), '') AS industry,
    nullif(trim(lead_source), '') AS lead_source,
    nullif(trim(campaign_id), '') AS campaign_id,
    TRY_CAST(nullif(trim(created_at), '') AS TIMESTAMPTZ)::TIMESTAMP AS created_at
FROM @SOURCE(leads)
WHERE nullif(trim(lead_id), '') IS NOT NULL AND nullif(trim(lead_source), '') IS NOT NULL
  AND TRY_CAST(nullif(trim(created_at), '') AS TIMESTAMPTZ) IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY nullif(trim(lead_id), '') ORDER BY filename DESC) = 1;

CREATE TEMP TABLE accounts AS
SELECT
    nullif(trim(account_id), '') AS account_id,
    nullif(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            lower(trim(domain)), '^[^/]*://', ''), '/.*$', ''), ':.*$', ''), '^www\.', ''),
        '') AS domain,
    TRY_CAST(nullif(trim(employee_count), '') AS BIGINT) AS employee_count,
    nullif(lower(trim(industry)), '') AS industry
FROM @SOURCE(accounts)
WHERE nullif(trim(account_id), '') IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY nullif(trim(account_id), '') ORDER BY filename DESC) = 1;

CREATE TEMP TABLE deals AS
SELECT
    nullif(trim(deal_id), '') AS deal_id,
    nullif(trim(account_id), '') AS account_id,
    TRY_CAST(nullif(trim(created_at), '') AS TIMESTAMPTZ)::TIMESTAMP AS created_at,
    TRY_CAST(nullif(trim(closed_at), '') AS TIMESTAMPTZ)::TIMESTAMP AS closed_at,
    regexp_replace(lower(trim(stage)), '[ -]', '_', 'g') AS stage,
    TRY_CAST(nullif(trim(amount), '') AS DOUBLE) AS amount,
    nullif(trim(originating_lead_id), '') AS originating_lead_id
FROM @SOURCE(deals)
WHERE nullif(trim(deal_id), '') IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY nullif(trim(deal_id), '') ORDER BY filename DESC) = 1;

CREATE TEMP TABLE deal_contacts AS
SELECT deal_id, lead_id, email
FROM (
    SELECT
        nullif(trim(deal_id), '') AS deal_id,
        nullif(trim(lead_id), '') AS lead_id,
        nullif(lower(trim(email)), '') AS email,
        filename
    FROM @SOURCE(deal_contacts)
)
WHERE deal_id IS NOT NULL AND coalesce(lead_id, email) IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY deal_id, CASE WHEN lead_id IS NOT NULL THEN 'lead_id:' || lead_id ELSE 'email:' || email END
    ORDER BY filename DESC) = 1;

CREATE TEMP TABLE events AS
SELECT
    nullif(trim(event_id), '') AS event_id,
    nullif(trim(lead_id), '') AS lead_id,
    nullif(lower(trim(email)), '') AS email,
    TRY_CAST(nullif(trim(occurred_at), '') AS TIMESTAMPTZ)::TIMESTAMP AS occurred_at
FROM @SOURCE(engagement_events)
WHERE nullif(trim(event_id), '') IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY nullif(trim(event_id), '') ORDER BY filename) = 1;

-- 2. Identity: a lead is a person (same normalized email); identity fields from the
--    earliest record, other attributes from the most recent non-null one.
CREATE TEMP TABLE persons AS
SELECT
    person_key,
    arg_min(lead_id, (created_at, lead_id)) AS lead_id,
    min(created_at) AS created_at,
    arg_min(lead_source, (created_at, lead_id)) AS lead_source,
    arg_min_null(campaign_id, (created_at, lead_id)) AS campaign_id,
    any_value(email) AS email,
    arg_max(job_title, (created_at, lead_id)) AS job_title,
    arg_max(company_domain, (created_at, lead_id)) AS company_domain,
    arg_max(employee_count, (created_at, lead_id)) AS employee_count,
    arg_max(industry, (created_at, lead_id)) AS industry
FROM (SELECT *, coalesce('email:' || email, 'lead_id:' || lead_id) AS person_key FROM leads)
GROUP BY person_key;

CREATE TEMP TABLE lead_id_map AS
SELECT leads.lead_id AS record_lead_id, persons.lead_id
FROM leads
JOIN persons ON coalesce('email:' || leads.email, 'lead_id:' || leads.lead_id) = persons.person_key;

CREATE TEMP TABLE account_domains AS
SELECT domain, min(account_id) AS account_id FROM accounts WHERE domain IS NOT NULL GROUP BY domain;

-- 3. fct_leads: account, firmographics (account first), job function, SAL verdict.
CREATE OR REPLACE TABLE marts.fct_leads AS
WITH enriched AS (
    SELECT
        p.lead_id,
        p.email,
        p.domain,
        ad.account_id,
        -- the first job function (in the rules file's order) with a keyword in the title
        CASE
            WHEN p.job_title IS NULL THEN NULL
            ELSE coalesce(@RULE(job_function_names)[list_position(
                list_transform(@RULE(job_function_keywords),
                    lambda keywords: list_bool_or(list_transform(keywords, lambda k: contains(lower(p.job_title), k)))),
                true)], 'other')
        END AS job_function,
        coalesce(a.employee_count, p.employee_count) AS employee_count,
        coalesce(a.industry, p.industry) AS industry,
        p.lead_source,
        p.campaign_id,
        p.created_at
    FROM (
        SELECT *,
            coalesce(company_domain,
                CASE WHEN NOT list_contains(@VOCAB(free_mail_domains), email_domain) THEN email_domain END
            ) AS domain
        FROM (
            SELECT *,
                nullif(
                    regexp_replace(regexp_replace(regexp_replace(regexp_replace(
                        regexp_extract(email, '@([^@]*)$', 1), '^[^/]*://', ''), '/.*$', ''), ':.*$', ''), '^www\.', ''),
                    '') AS email_domain
            FROM persons
        )
    ) AS p
    LEFT JOIN account_domains AS ad ON ad.domain = p.domain
    LEFT JOIN accounts AS a ON a.account_id = ad.account_id
),
rules AS (
    -- a rule the rules file leaves out is not evaluated (NULL)
    SELECT *,
        CASE WHEN NOT list_contains(@RULE(sal_rules), 'company_size') THEN NULL
             WHEN employee_count IS NULL THEN 'unknown'
             WHEN employee_count > @RULE(company_size_min_exclusive)
                  AND employee_count <= @RULE(company_size_max_inclusive) THEN 'passed'
             ELSE 'failed' END AS r_size,
        CASE WHEN NOT list_contains(@RULE(sal_rules), 'finance_role') THEN NULL
             WHEN job_function IS NULL THEN 'unknown'
             WHEN job_function = @RULE(finance_job_function) THEN 'passed' ELSE 'failed' END AS r_finance,
        CASE WHEN NOT list_contains(@RULE(sal_rules), 'industry') THEN NULL
             WHEN industry IS NULL THEN 'unknown'
             WHEN list_contains(@RULE(industries), industry) THEN 'passed'
             ELSE 'failed' END AS r_industry
    FROM enriched
)
SELECT
    lead_id, email, account_id, domain, job_function, employee_count, industry, lead_source, campaign_id, created_at,
    CASE WHEN 'failed' IN (r_size, r_finance, r_industry) THEN 'rejected'
         WHEN 'unknown' IN (r_size, r_finance, r_industry) THEN 'undetermined'
         ELSE 'accepted' END AS sal_status,
    concat_ws('; ',
        CASE WHEN r_size <> 'passed' THEN 'company_size:' || r_size END,
        CASE WHEN r_finance <> 'passed' THEN 'finance_role:' || r_finance END,
        CASE WHEN r_industry <> 'passed' THEN 'industry:' || r_industry END) AS sal_reasons,
    sal_status = 'accepted' AS is_sal,
    @RULE(rules_version) AS rules_version,
    CASE WHEN @RULE(marketing_sources_include) IS NOT NULL
         THEN list_contains(@RULE(marketing_sources_include), lower(lead_source))
         ELSE NOT list_contains(@RULE(marketing_sources_exclude), lower(lead_source)) END AS is_marketing_source
FROM rules;

-- 4. lead_to_sal_monthly
CREATE OR REPLACE TABLE marts.lead_to_sal_monthly AS
SELECT
    date_trunc('month', created_at)::DATE AS month,
    lead_source,
    count(*) AS leads,
    count(*) FILTER (WHERE is_sal) AS sals,
    count(*) FILTER (WHERE sal_status = 'rejected') AS rejected,
    count(*) FILTER (WHERE sal_status = 'undetermined') AS undetermined,
    count(*) FILTER (WHERE is_sal) / count(*) AS lead_to_sal_pct,
    count(*) FILTER (WHERE sal_status = 'undetermined') / count(*) AS undetermined_pct
FROM marts.fct_leads
GROUP BY ALL;

-- 5. fct_deals: sourced (originating lead's person is from a marketing source) and
--    influenced (a contact's event inside [created_at - lookback days, closed_at or end of as-of day]).
CREATE OR REPLACE TABLE marts.fct_deals AS
WITH resolved_events AS (
    SELECT e.event_id, e.occurred_at, coalesce(by_id.lead_id, by_email.lead_id) AS lead_id
    FROM events AS e
    LEFT JOIN lead_id_map AS by_id ON by_id.record_lead_id = e.lead_id
    LEFT JOIN persons AS by_email ON by_email.email = e.email
),
contacts AS (
    SELECT DISTINCT deal_id, lead_id FROM (
        SELECT c.deal_id, coalesce(by_id.lead_id, by_email.lead_id) AS lead_id
        FROM deal_contacts AS c
        LEFT JOIN lead_id_map AS by_id ON by_id.record_lead_id = c.lead_id
        LEFT JOIN persons AS by_email ON by_email.email = c.email
        UNION ALL
        SELECT d.deal_id, m.lead_id
        FROM deals AS d JOIN lead_id_map AS m ON m.record_lead_id = d.originating_lead_id
    )
    WHERE lead_id IS NOT NULL
),
touches AS (
    SELECT d.deal_id, count(*) AS influencing_touches, min(e.occurred_at) AS first_influence_at
    FROM deals AS d
    JOIN contacts AS c ON c.deal_id = d.deal_id
    JOIN resolved_events AS e ON e.lead_id = c.lead_id
    WHERE e.occurred_at >= d.created_at - to_microseconds(CAST(round(@RULE(influence_lookback_days) * 86400000000) AS BIGINT))
      AND CASE WHEN d.stage IN (@VOCAB(won_stage), @VOCAB(lost_stage)) THEN e.occurred_at <= d.closed_at
               ELSE e.occurred_at < (@AS_OF + INTERVAL 1 DAY)::TIMESTAMP END
    GROUP BY d.deal_id
),
sourced AS (
    SELECT m.record_lead_id, l.is_marketing_source
    FROM lead_id_map AS m JOIN marts.fct_leads AS l ON l.lead_id = m.lead_id
)
SELECT
    d.deal_id, d.account_id, d.created_at, d.closed_at, d.stage, d.amount,
    d.stage = @VOCAB(won_stage) AS is_won,
    d.stage IN (@VOCAB(won_stage), @VOCAB(lost_stage)) AS is_closed,
    d.originating_lead_id,
    coalesce(s.is_marketing_source, false) AS is_marketing_sourced,
    coalesce(t.influencing_touches, 0) > 0 AS is_marketing_influenced,
    CASE WHEN coalesce(s.is_marketing_source, false) THEN 'marketing_sourced'
         WHEN coalesce(t.influencing_touches, 0) > 0 THEN 'marketing_influenced'
         ELSE 'sales_only' END AS pipeline_category,
    coalesce(t.influencing_touches, 0) AS influencing_touches,
    t.first_influence_at
FROM deals AS d
LEFT JOIN sourced AS s ON s.record_lead_id = d.originating_lead_id
LEFT JOIN touches AS t ON t.deal_id = d.deal_id
WHERE d.created_at IS NOT NULL AND d.amount IS NOT NULL
  AND NOT (d.stage IN (@VOCAB(won_stage), @VOCAB(lost_stage)) AND d.closed_at IS NULL);
