-- The attribution weights of every touch of a deal, one column per model
-- (CONTRACT s6). This model is the only place the weights are defined; for
-- every deal and model they sum to 1 (tests/assert_attribution_weights_sum_to_one.sql).
--
-- Every rational weight is written as ONE division of exact numbers, so the
-- stored double is the correctly rounded value of the exact fraction:
--   first_touch  1 to t1
--   last_touch   1 to tn
--   linear       1/n
--   u_shaped     n=1: 1; n=2: 1/2; n>=3: 4/10 to t1 and tn, 2/(10(n-2)) to each other
--   w_shaped     a touch holding h milestones (0..3) gets 3h/10, plus 1/(10k) when it is
--                in the pool sharing the 0.1: the k touches holding no milestone, or,
--                when there are none, the k distinct milestone touches
--                -> (3hk + s) / (10k), s = 1 in the pool, else 0
--   time_decay   raw 2^(-d/h): d = days (fractional, to the microsecond) from the touch to
--                the deal's closed_at, or to the end of the as-of date (as_of_end) while
--                open; h = time_decay_half_life_days of the rules file; normalized to sum 1.
--                2^x is macros/exp2.sql, not pow(): the same bits on DuckDB and Spark.
--                Normalizing divides out 2^(-d_min/h), so the weight is computed as
--                2^(-(d - d_min)/h) / sum(...), d - d_min being the time from the touch to
--                the deal's latest touch: same value, but no underflow to 0/0 for touches
--                years before the end. The sum is a fixed_order_sum (macros/fixed_order_sum.sql),
--                so the weights have the same bits whatever order the deal's touches come in.
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

milestones as (
    select * from {{ ref('int_attribution_milestones') }}
),

rules as (
    select as_of_end, time_decay_half_life_days from {{ ref('stg_config__rules') }}
),

touch_facts as (
    select
        touches.deal_id,
        touches.event_id,
        touches.touch_position,
        touches.touch_count,
        (touches.touch_position = milestones.first_touch_position)::bigint
            + (touches.touch_position = milestones.lead_creation_position)::bigint
            + (touches.touch_position = milestones.opportunity_creation_position)::bigint
            as milestones_held,
        case
            when touches.touch_count > milestones.milestone_touches
                then touches.touch_count - milestones.milestone_touches
            else milestones.milestone_touches
        end as w_shaped_pool_size,
        touches.touch_count > milestones.milestone_touches as w_shaped_pool_is_non_milestone,
        case when touches.deal_is_closed then touches.deal_closed_at else rules.as_of_end end as time_decay_end_at,
        rules.time_decay_half_life_days,
        ({{ epoch_microseconds('case when touches.deal_is_closed then touches.deal_closed_at else rules.as_of_end end') }}
            - {{ epoch_microseconds('touches.occurred_at') }}) / 86400000000::double as time_decay_days,
        ({{ epoch_microseconds('max(touches.occurred_at) over (partition by touches.deal_id)') }} - {{ epoch_microseconds('touches.occurred_at') }})
            / 86400000000::double as days_before_latest_touch
    from touches
    inner join milestones on touches.deal_id = milestones.deal_id
    cross join rules
),

decay_exponents as (
    select
        *,
        -time_decay_days / time_decay_half_life_days as time_decay_exponent,
        -days_before_latest_touch / time_decay_half_life_days as time_decay_relative_exponent
    from touch_facts
),

weights as (
    select
        *,
        (touch_position = 1)::bigint::double as w_first_touch,
        (touch_position = touch_count)::bigint::double as w_last_touch,
        1::double / touch_count as w_linear,
        case
            when touch_count = 1 then 1::double
            when touch_count = 2 then 1::double / 2
            when touch_position in (1, touch_count) then 4::double / 10
            else 2::double / (10 * (touch_count - 2))
        end as w_u_shaped,
        (3 * milestones_held * w_shaped_pool_size
            + case
                when w_shaped_pool_is_non_milestone then (milestones_held = 0)::bigint
                else (milestones_held > 0)::bigint
            end)::double
            / (10 * w_shaped_pool_size) as w_shaped_weight,
        {{ exp2('time_decay_exponent') }} as time_decay_raw,
        {{ exp2('time_decay_relative_exponent') }} as time_decay_relative
    from decay_exponents
),

time_decay_totals as (
    -- in [1, n]: the latest touch's relative weight is 1. Summed in a fixed order, not with a
    -- window sum(), whose last bits depend on the order the deal's rows arrive in.
    select deal_id, {{ fixed_order_sum('time_decay_relative') }} as time_decay_relative_total
    from weights
    group by deal_id
)

select
    deal_id,
    event_id,
    touch_position,
    touch_count,
    milestones_held,
    time_decay_end_at,
    time_decay_days,
    time_decay_raw,
    w_first_touch,
    w_last_touch,
    w_linear,
    w_u_shaped,
    w_shaped_weight as w_w_shaped,
    time_decay_relative / time_decay_totals.time_decay_relative_total as w_time_decay
from weights
inner join time_decay_totals using (deal_id)
