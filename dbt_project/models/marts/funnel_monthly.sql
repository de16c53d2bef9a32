-- The lead funnel per cohort (CONTRACT s6): month of the lead's created_at (UTC)
-- x lead_source, a row only where there is at least one lead. A lead is an
-- opportunity when it is the originating lead (by lead_id, through the person:
-- fct_deals.originating_person_id) of at least one deal of any stage; won when
-- at least one of those deals is won. Percentages are 0..1, null when the divisor is 0.
with leads as (
    select * from {{ ref('fct_leads') }}
),

originators as (
    select
        originating_person_id as lead_id,
        bool_or(is_won) as has_won_deal
    from {{ ref('fct_deals') }}
    where originating_person_id is not null
    group by originating_person_id
),

cohort as (
    select
        cast(date_trunc('month', leads.created_at) as date) as month,
        leads.lead_source,
        leads.is_sal,
        originators.lead_id is not null as is_opportunity,
        coalesce(originators.has_won_deal, false) as is_won
    from leads
    left join originators on leads.lead_id = originators.lead_id
),

counts as (
    select
        month,
        lead_source,
        count(*) as leads,
        count(*) filter (where is_sal) as sals,
        count(*) filter (where is_opportunity) as opportunities,
        count(*) filter (where is_opportunity and is_sal) as sal_opportunities,
        count(*) filter (where is_won) as won
    from cohort
    group by month, lead_source
)

select
    month,
    lead_source,
    leads,
    sals,
    opportunities,
    sal_opportunities,
    won,
    sals / nullif(leads, 0) as lead_to_sal_pct,
    sal_opportunities / nullif(sals, 0) as sal_to_opportunity_pct,
    won / nullif(opportunities, 0) as opportunity_to_won_pct
from counts
