-- W-shaped milestones of a deal with touches (CONTRACT s6), as touch positions:
--   FT (first touch)        = t1;
--   LC (lead creation)      = the last touch at or before the earliest created_at
--                             over ALL contacts of the deal (s5: listed contacts
--                             plus the originating lead, with or without touches),
--                             else t1;
--   OC (opportunity created) = the last touch at or before the deal's created_at,
--                             else LC.
-- `milestone_touches` counts the distinct touches holding a milestone (1..3).
-- A contact's created_at is the person's (earliest record), as in fct_leads.
-- Incremental: a nightly build recomputes the deals in int_deal_changes (every
-- deal when a campaigns file arrived: channels).
{{ config(
    materialized=change_set_materialization(),
    incremental_strategy='change_set',
    unique_key='deal_id',
    meta={'change_set': 'changed_attribution_deal_ids'},
) }}
with touches as (
    select * from {{ ref('int_attribution_touches') }}
    where {{ is_to_rebuild('deal_id', changed_attribution_deal_ids()) }}
),

contacts_created as (
    select
        contacts.deal_id,
        min(persons.created_at) as contacts_first_created_at
    from {{ ref('int_deal_contacts') }} as contacts
    inner join {{ ref('int_persons') }} as persons on contacts.lead_id = persons.lead_id
    group by contacts.deal_id
),

per_deal as (
    select
        touches.deal_id,
        any_value(touches.touch_count) as touch_count,
        any_value(touches.deal_created_at) as deal_created_at,
        any_value(contacts_created.contacts_first_created_at) as contacts_first_created_at,
        max(touches.touch_position) filter (
            where touches.occurred_at <= contacts_created.contacts_first_created_at
        ) as last_touch_by_lead_creation,
        max(touches.touch_position) filter (
            where touches.occurred_at <= touches.deal_created_at
        ) as last_touch_by_opportunity_creation
    from touches
    left join contacts_created on touches.deal_id = contacts_created.deal_id
    group by touches.deal_id
),

positions as (
    select
        deal_id,
        touch_count,
        contacts_first_created_at,
        deal_created_at,
        cast(1 as bigint) as first_touch_position,
        coalesce(last_touch_by_lead_creation, 1) as lead_creation_position,
        coalesce(last_touch_by_opportunity_creation, last_touch_by_lead_creation, 1) as opportunity_creation_position
    from per_deal
)

select
    *,
    1
        + (lead_creation_position <> first_touch_position)::bigint
        + (opportunity_creation_position not in (first_touch_position, lead_creation_position))::bigint
        as milestone_touches
from positions
