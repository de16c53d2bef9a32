{#- dbt's `unique` test on DuckDB, in two passes (docs/scale-out.md, "When to move").

    dbt's own groups the rows by the column's values. On 200 million event ids
    (10M leads) DuckDB 2.0 could not do that within the warehouse's 1.5 GB
    memory limit ("could not allocate block", the run failed), while grouping
    their 64-bit hashes took 17 s at the same limit. So: the hashes seen more
    than once, usually none; then the values with those hashes, grouped
    exactly, so a hash collision is never reported as a duplicate. The rows
    returned are those of dbt's test: each duplicated value, with its count.
    dbt looks for `<adapter>__test_unique` in this project before its own.
    Plain Jinja: tests/test_unique_test.py runs it beside dbt's own. -#}
{% macro duckdb__test_unique(model, column_name) %}
with repeated_hashes as (
    select hash({{ column_name }}) as value_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
    having count(*) > 1
)

select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
    and hash({{ column_name }}) in (select value_hash from repeated_hashes)
group by {{ column_name }}
having count(*) > 1
{% endmacro %}
