{#- The contract's vocabularies are project vars (dbt_project.yml `vars:`), which
    Python reads too (orchestration/baton/lib/vocabularies.py). These two macros write
    a var's values into SQL as quoted literals. -#}

{#- One text value as a SQL string literal. -#}
{% macro sql_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{#- A list var as a DuckDB list literal: sql_list('event_types') -> ['webinar_registration', ...]. -#}
{% macro sql_list(var_name) -%}
    [{% for value in var(var_name) %}{{ sql_literal(value) }}{% if not loop.last %}, {% endif %}{% endfor %}]
{%- endmacro %}
