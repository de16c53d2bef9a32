{#- The contract's vocabularies are project vars (dbt_project.yml `vars:`), which
    Python reads too (orchestration/baton/lib/vocabularies.py). These two macros write
    a var's values into SQL as quoted literals. -#}

{#- One text value as a SQL string literal. -#}
{% macro sql_literal(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{#- A list var as a list literal: sql_list('event_types') -> ['webinar_registration', ...]
    on DuckDB, array('webinar_registration', ...) on Spark (macros/cross_db.sql). -#}
{% macro sql_list(var_name) -%}
    {%- set literals = [] -%}
    {%- for value in var(var_name) %}{% do literals.append(sql_literal(value)) %}{% endfor -%}
    {{ baton_list(literals) }}
{%- endmacro %}
