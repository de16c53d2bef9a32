{#- The one way the project sums DOUBLEs over rows (docs/decisions.md, "Sums in a fixed order").

    A plain `sum(double)` depends on the order DuckDB adds the values in: the
    order rows are stored in (an incremental model deletes and re-inserts the
    open deals' touches every night, in a new order) and how its threads split
    the rows. Floating-point addition is not associative ((1e16 + 1) + 1 is
    1e16, 1e16 + (1 + 1) is 1e16 + 2), so the last bits of a total changed from
    run to run although the inputs did not.

    This macro adds the values in one order that depends on nothing but the
    values: ascending, left to right. `list(x ORDER BY x)` collects them sorted
    (an ordered aggregate: its order is part of its meaning) and
    `list_reduce` folds the list from the left (defined as a running total).
    The same multiset of doubles gives the same bits on every run, incremental
    or full, with 1 thread or 8. Values equal as numbers are equal as bits
    but for 0.0 and -0.0, which add alike.

    It is a sum of doubles like the plain one, as accurate (ascending order is
    the better order for the non-negative amounts summed here), with no range
    limit and full relative precision for tiny totals (an exact DECIMAL sum
    would round those to its scale). Nulls are skipped; a sum over no row is
    null, as sum() is.

    `where` is an aggregate FILTER. For a total per partition, aggregate with
    GROUP BY and join it back: a window would collect and sort the list once
    for every row. -#}
{% macro fixed_order_sum(expression, where=none) -%}
    {#- `adapter` is undefined where tests render this file with plain Jinja (tests/test_dbt_unit.py) -#}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('fixed_order_sum')(expression, where)) }}
    {%- endif -%}
    {{ default__fixed_order_sum(expression, where) }}
{%- endmacro %}

{% macro default__fixed_order_sum(expression, where) -%}
    list_reduce(
        list(cast({{ expression }} as double) order by cast({{ expression }} as double))
            filter (where ({{ expression }}) is not null{% if where is not none %} and ({{ where }}){% endif %}),
        lambda total, value: total + value)
{%- endmacro %}

{#- Spark (macros/cross_db.sql): the same sum, the same bits. collect_list skips
    nulls; array_sort sorts ascending; aggregate folds from the left, starting
    from the first value (null + v is null: coalesce makes the first step v, as
    list_reduce does), so a sum over no value is null. -#}
{% macro spark__fixed_order_sum(expression, where) -%}
    aggregate(
        array_sort(collect_list(
            {%- if where is not none %}case when ({{ where }}) then cast({{ expression }} as double) end
            {%- else %}cast({{ expression }} as double){% endif -%}
        )),
        cast(null as double),
        (total, value) -> coalesce(total + value, value))
{%- endmacro %}
