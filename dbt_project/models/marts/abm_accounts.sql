-- One row per target account (CONTRACT s6). A target is matched to `accounts`
-- by account_id when it names one, else by normalized domain (smallest
-- account_id on a shared domain). A target matching no account keeps its row:
-- null account_id, zero counts and sums, journey_stage 'unaware'.
-- Its leads: fct_leads.account_id = the account; its deals: fct_deals.account_id = the account.
-- The ABM window: [as_of_end - abm_window_days days, as_of_end), as_of_end being
-- 00:00 UTC of the day after the as-of date. Amounts are summed with
-- fixed_order_sum (macros/fixed_order_sum.sql): the same bits on every run.
with targets as (
    select * from {{ ref('stg_target_accounts') }}
),

rules as (
    select
        {{ minus_days('as_of_end', 'abm_window_days') }} as window_start,
        as_of_end as window_end
    from {{ ref('stg_config__rules') }}
),

matched as (
    select
        targets.account_id as target_account_id,
        targets.domain as target_domain,
        targets.tier,
        targets.added_at,
        coalesce(by_id.account_id, by_domain.account_id) as account_id,
        case
            when by_id.account_id is not null then 'account_id'
            when by_domain.account_id is not null then 'domain'
        end as matched_by
    from targets
    left join {{ ref('stg_accounts') }} as by_id on targets.account_id = by_id.account_id
    left join {{ ref('int_account_domains') }} as by_domain on targets.domain = by_domain.domain
),

leads as (
    select * from {{ ref('fct_leads') }} where account_id is not null
),

lead_counts as (
    select
        account_id,
        count(*) as leads,
        count(*) filter (where is_sal) as sals
    from leads
    group by account_id
),

engagement as (
    select
        leads.account_id,
        count(distinct events.lead_id) as engaged_contacts_90d,
        count(*) as touches_90d
    from {{ ref('int_engagement_events') }} as events
    inner join leads on events.lead_id = leads.lead_id
    cross join rules
    where events.occurred_at >= rules.window_start
        and events.occurred_at < rules.window_end
    group by leads.account_id
),

deal_sums as (
    select
        account_id,
        count(*) filter (where not is_closed) as open_deals,
        {{ fixed_order_sum('amount', where='not is_closed') }} as open_pipeline,
        count(*) filter (where is_won) as won_deals,
        {{ fixed_order_sum('amount', where='is_won') }} as won_arr
    from {{ ref('fct_deals') }}
    where account_id is not null
    group by account_id
),

figures as (
    select
        matched.account_id,
        coalesce(accounts.domain, matched.target_domain) as domain,
        accounts.account_name,
        matched.tier,
        matched.added_at,
        matched.target_account_id,
        matched.target_domain,
        matched.matched_by,
        coalesce(lead_counts.leads, 0) as leads,
        coalesce(lead_counts.sals, 0) as sals,
        coalesce(engagement.engaged_contacts_90d, 0) as engaged_contacts_90d,
        coalesce(engagement.touches_90d, 0) as touches_90d,
        coalesce(deal_sums.open_deals, 0) as open_deals,
        coalesce(deal_sums.open_pipeline, 0) as open_pipeline,
        coalesce(deal_sums.won_deals, 0) as won_deals,
        coalesce(deal_sums.won_arr, 0) as won_arr
    from matched
    left join {{ ref('stg_accounts') }} as accounts on matched.account_id = accounts.account_id
    left join lead_counts on matched.account_id = lead_counts.account_id
    left join engagement on matched.account_id = engagement.account_id
    left join deal_sums on matched.account_id = deal_sums.account_id
)

select
    *,
    case
        when won_deals > 0 then 'customer'
        when open_deals > 0 then 'opportunity'
        when sals > 0 then 'sal'
        when touches_90d > 0 then 'engaged'
        when leads > 0 then 'known'
        else 'unaware'
    end as journey_stage
from figures
