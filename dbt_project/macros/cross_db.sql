{#- Engine-specific SQL, in one file (docs/scale-out.md).

    Every model, test and unit test runs unchanged on DuckDB (the embedded
    default) and on Spark (BATON_ENGINE=spark). Where the two spell the same
    thing differently, the model calls one of the macros below; each one is an
    `adapter.dispatch`: `default__` is the DuckDB SQL Baton always wrote (the
    DuckDB build is bit-identical to the one before this file existed),
    `spark__` the Spark 4 SQL with the same meaning, value for value
    (tests/test_spark.py builds both and compares them).

    Written the same on both, so not here: QUALIFY, `::` casts, FILTER (WHERE),
    any_value, min_by, bool_or, GROUP BY ALL, IS [NOT] DISTINCT FROM, UNPIVOT,
    `* except (...)`, date_trunc, pow, `||`, regexes written with `[.]` (a `\.`
    in a Spark string literal is an escape: it would mean "any character"). -#}

{#- A list (DuckDB LIST, Spark ARRAY) of SQL expressions; `element_type` casts
    it (needed for an empty list, and in unit-test fixtures). -#}
{% macro baton_list(items, element_type=none) -%}
    {{ return(adapter.dispatch('baton_list')(items, element_type)) }}
{%- endmacro %}
{% macro default__baton_list(items, element_type) -%}
    {%- if element_type is none -%}[{{ items | join(', ') }}]
    {%- else -%}cast([{{ items | join(', ') }}] as {{ element_type }}[])
    {%- endif -%}
{%- endmacro %}
{% macro spark__baton_list(items, element_type) -%}
    {%- if element_type is none -%}array({{ items | join(', ') }})
    {%- else -%}cast(array({{ items | join(', ') }}) as array<{{ element_type }}>)
    {%- endif -%}
{%- endmacro %}

{#- Unit-test fixtures: a list of text values (`none`: a null list), and a list of such lists. -#}
{% macro string_list(values) -%}
    {%- if values is none -%}
        {{ return(adapter.dispatch('null_string_list')()) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in values %}{% do literals.append(sql_literal(value)) %}{% endfor -%}
    {{ baton_list(literals, dbt.type_string()) }}
{%- endmacro %}
{% macro default__null_string_list() -%} cast(null as varchar[]) {%- endmacro %}
{% macro spark__null_string_list() -%} cast(null as array<string>) {%- endmacro %}

{% macro string_list_list(lists) -%}
    {%- set items = [] -%}
    {%- for values in lists %}{% do items.append(string_list(values)) %}{% endfor -%}
    {{ return(adapter.dispatch('string_list_list')(items)) }}
{%- endmacro %}
{% macro default__string_list_list(items) -%} cast([{{ items | join(', ') }}] as varchar[][]) {%- endmacro %}
{% macro spark__string_list_list(items) -%} cast(array({{ items | join(', ') }}) as array<array<string>>) {%- endmacro %}

{#- Whether a list holds a value (null when the value is null). -#}
{% macro list_has(list, value) -%}
    {{ return(adapter.dispatch('list_has')(list, value)) }}
{%- endmacro %}
{% macro default__list_has(list, value) -%} list_contains({{ list }}, {{ value }}) {%- endmacro %}
{% macro spark__list_has(list, value) -%} array_contains({{ list }}, {{ value }}) {%- endmacro %}

{#- The elements of a list for which `condition` (an SQL expression of `var`) is true. -#}
{% macro list_where(list, var, condition) -%}
    {{ return(adapter.dispatch('list_where')(list, var, condition)) }}
{%- endmacro %}
{% macro default__list_where(list, var, condition) -%} list_filter({{ list }}, lambda {{ var }}: {{ condition }}) {%- endmacro %}
{% macro spark__list_where(list, var, condition) -%} filter({{ list }}, {{ var }} -> {{ condition }}) {%- endmacro %}

{#- `expression` (of `var`) for every element of a list. -#}
{% macro list_map(list, var, expression) -%}
    {{ return(adapter.dispatch('list_map')(list, var, expression)) }}
{%- endmacro %}
{% macro default__list_map(list, var, expression) -%} list_transform({{ list }}, lambda {{ var }}: {{ expression }}) {%- endmacro %}
{% macro spark__list_map(list, var, expression) -%} transform({{ list }}, {{ var }} -> {{ expression }}) {%- endmacro %}

{#- A list sorted ascending (structs: field by field). -#}
{% macro list_sorted(list) -%}
    {{ return(adapter.dispatch('list_sorted')(list)) }}
{%- endmacro %}
{% macro default__list_sorted(list) -%} list_sort({{ list }}) {%- endmacro %}
{% macro spark__list_sorted(list) -%} array_sort({{ list }}) {%- endmacro %}

{% macro list_size(list) -%}
    {{ return(adapter.dispatch('list_size')(list)) }}
{%- endmacro %}
{% macro default__list_size(list) -%} len({{ list }}) {%- endmacro %}
{% macro spark__list_size(list) -%} size({{ list }}) {%- endmacro %}

{#- A list of text joined by `separator` (an SQL string literal). -#}
{% macro list_join(list, separator) -%}
    {{ return(adapter.dispatch('list_join')(list, separator)) }}
{%- endmacro %}
{% macro default__list_join(list, separator) -%} array_to_string({{ list }}, {{ separator }}) {%- endmacro %}
{% macro spark__list_join(list, separator) -%} array_join({{ list }}, {{ separator }}) {%- endmacro %}

{#- One row per element of a list (in a select list). -#}
{% macro unnest_list(list) -%}
    {{ return(adapter.dispatch('unnest_list')(list)) }}
{%- endmacro %}
{% macro default__unnest_list(list) -%} unnest({{ list }}) {%- endmacro %}
{% macro spark__unnest_list(list) -%} explode({{ list }}) {%- endmacro %}

{#- `select` of lists of the same length, unnested side by side: one row per
    position, each list's element under its alias, and the position (1-based)
    as `position_alias`. `lists` is a list of [column, alias] pairs. -#}
{% macro unnest_lists_with_position(relation, lists, position_alias) -%}
    {{ return(adapter.dispatch('unnest_lists_with_position')(relation, lists, position_alias)) }}
{%- endmacro %}
{% macro default__unnest_lists_with_position(relation, lists, position_alias) -%}
    select
        {%- for column, alias in lists %}
        unnest({{ column }}) as {{ alias }},
        {%- endfor %}
        generate_subscripts({{ lists[0][0] }}, 1) as {{ position_alias }}
    from {{ relation }}
{%- endmacro %}
{% macro spark__unnest_lists_with_position(relation, lists, position_alias) -%}
    select
        {%- for column, alias in lists %}
        zipped.{{ column }} as {{ alias }},
        {%- endfor %}
        cast(zipped_position + 1 as bigint) as {{ position_alias }}
    from {{ relation }}
    lateral view posexplode(arrays_zip({% for column, alias in lists %}{{ column }}{{ ', ' if not loop.last }}{% endfor %})) zipped_rows as zipped_position, zipped
{%- endmacro %}

{#- A struct of named fields: `fields` is a dict {name: SQL expression}, in order. -#}
{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of')(fields)) }}
{%- endmacro %}
{% macro default__struct_of(fields) -%}
    {{ '{' }}{% for name, expression in fields.items() %}{{ name }}: {{ expression }}{{ ', ' if not loop.last }}{% endfor %}{{ '}' }}
{%- endmacro %}
{% macro spark__struct_of(fields) -%}
    named_struct({% for name, expression in fields.items() %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- An aggregate: `expression` of the group's first row in the order of
    `order_by` (a list of columns), ascending or, with `descending`, descending;
    nulls of an ordering column last either way (DuckDB's default order). May be
    followed by FILTER (WHERE ...). On Spark: min_by / max_by over a struct
    ordering the same way. -#}
{% macro first_in_order(expression, order_by, descending=false) -%}
    {{ return(adapter.dispatch('first_in_order')(expression, order_by, descending)) }}
{%- endmacro %}
{% macro default__first_in_order(expression, order_by, descending) -%}
    first({{ expression }} order by {% for column in order_by %}{{ column }}{{ ' desc' if descending }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro spark__first_in_order(expression, order_by, descending) -%}
    {#- a struct orders field by field, a null field first: (is null, value) pairs put nulls last -#}
    {{ 'max_by' if descending else 'min_by' }}({{ expression }}, named_struct(
        {%- for column in order_by -%}
        'n{{ loop.index }}', {{ column }} is {{ 'not ' if descending }}null, 'v{{ loop.index }}', {{ column }}{{ ', ' if not loop.last }}
        {%- endfor -%}
    ))
{%- endmacro %}

{#- Microseconds since 1970-01-01 00:00:00 of a timestamp (without time zone). -#}
{% macro epoch_microseconds(timestamp) -%}
    {{ return(adapter.dispatch('epoch_microseconds')(timestamp)) }}
{%- endmacro %}
{% macro default__epoch_microseconds(timestamp) -%} epoch_us({{ timestamp }}) {%- endmacro %}
{#- the session time zone is UTC (profiles.yml): the cast to TIMESTAMP shifts nothing -#}
{% macro spark__epoch_microseconds(timestamp) -%} unix_micros({{ timestamp }}) {%- endmacro %}

{#- A timestamp minus a number of microseconds (a BIGINT expression). -#}
{% macro minus_microseconds(timestamp, microseconds) -%}
    {{ return(adapter.dispatch('minus_microseconds')(timestamp, microseconds)) }}
{%- endmacro %}
{% macro default__minus_microseconds(timestamp, microseconds) -%}
    {{ timestamp }}
            - to_microseconds({{ microseconds }})
{%- endmacro %}
{% macro spark__minus_microseconds(timestamp, microseconds) -%}
    cast(timestamp_micros(unix_micros({{ timestamp }}) - {{ microseconds }}) as timestamp_ntz)
{%- endmacro %}

{#- A timestamp minus a whole number of days. -#}
{% macro minus_days(timestamp, days) -%}
    {{ return(adapter.dispatch('minus_days')(timestamp, days)) }}
{%- endmacro %}
{% macro default__minus_days(timestamp, days) -%} {{ timestamp }} - to_days({{ days }}) {%- endmacro %}
{% macro spark__minus_days(timestamp, days) -%} {{ timestamp }} - make_dt_interval({{ days }}) {%- endmacro %}

{#- Fails the query with `message` (an SQL text expression) when evaluated. -#}
{% macro raise_sql_error(message) -%}
    {{ return(adapter.dispatch('raise_sql_error')(message)) }}
{%- endmacro %}
{% macro default__raise_sql_error(message) -%} error({{ message }}) {%- endmacro %}
{% macro spark__raise_sql_error(message) -%} raise_error({{ message }}) {%- endmacro %}

{#- `with x as {{ materialized_cte() }} (...)`: DuckDB computes the CTE once
    and filters first (int_deal_touches); Spark has no such hint and plans it itself. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}
{% macro default__materialized_cte() -%} materialized {%- endmacro %}
{% macro spark__materialized_cte() -%} {%- endmacro %}

{#- The materialization of the incremental models (strategy `change_set`,
    macros/incremental.sql). It deletes the change set's keys before inserting
    them again: plain Parquet tables on Spark have no DELETE, so there the
    models are rebuilt whole each run (`table`; docs/scale-out.md). -#}
{% macro change_set_materialization() -%}
    {{ return(adapter.dispatch('change_set_materialization')()) }}
{%- endmacro %}
{% macro default__change_set_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}
{% macro spark__change_set_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- The raw tables and config.rules as Spark reads them, before every build
    (on-run-start, Spark only): tables over the Parquet files under the
    warehouse folder (BATON_LAKE_DIR, set by `baton run`): raw/<entity>/ (the
    lake the extract step writes, file_id=<n>/*.parquet) and config/rules/
    (written by baton.lib.engine). Re-created each run, so a file loaded since
    is read; the table is a name over the files, no data is copied. -#}
{% macro register_lake_tables() -%}
    {{ return(adapter.dispatch('register_lake_tables')()) }}
{%- endmacro %}
{% macro default__register_lake_tables() -%}
{%- endmacro %}
{% macro spark__register_lake_tables() -%}
    {%- if execute -%}
        {%- set lake = env_var('BATON_LAKE_DIR', '') -%}
        {%- if lake == '' -%}
            {{ exceptions.raise_compiler_error("BATON_LAKE_DIR is not set: the Spark target reads the raw Parquet lake and config/rules from that folder (baton run sets it)") }}
        {%- endif -%}
        {%- set tables = [] -%}
        {%- for source in graph.sources.values() -%}
            {%- if source.source_name == 'raw' -%}
                {%- do tables.append(('raw', source.name, lake ~ '/raw/' ~ source.name)) -%}
            {%- elif source.source_name == 'config' -%}
                {%- do tables.append(('config', source.name, lake ~ '/config/' ~ source.name)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for schema, name, location in tables | sort -%}
            {%- do run_query('create schema if not exists ' ~ schema) -%}
            {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ name) -%}
            {%- do run_query('create table ' ~ schema ~ '.' ~ name ~ " using parquet options (path '" ~ location ~ "', recursiveFileLookup 'true')") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The SAL rules' evaluations (int_lead_sal_evaluation): a list literal of
    entries `{rule: '<name>', result: CASE ... END}`, DuckDB's struct literal,
    the form docs and tests name (orchestration/baton/lib/rules.py). On Spark
    the same text becomes array(named_struct('rule', '<name>', 'result', CASE
    ... END), ...): SQL comments dropped, the braces and the two keys rewritten;
    a CASE holds no brace. A rule's CASE itself must be portable SQL (list_has,
    not list_contains). -#}
{% macro rule_entries_list(entries) -%}
    {{ return(adapter.dispatch('rule_entries_list')(entries)) }}
{%- endmacro %}
{% macro default__rule_entries_list(entries) -%}
    {{ entries }}
{%- endmacro %}
{% macro spark__rule_entries_list(entries) -%}
    {%- set re = modules.re -%}
    {%- set text = re.sub('--[^\n]*', '', entries) | trim -%}
    {%- if not (text.startswith('[') and text.endswith(']')) -%}
        {{ exceptions.raise_compiler_error("rule_entries_list: expected a list literal [ {rule: ..., result: ...}, ... ], got: " ~ text[:200]) }}
    {%- endif -%}
    {%- set text = text[1:-1] -%}
    {%- set text = re.sub('\{\s*rule\s*:', "named_struct('rule',", text) -%}
    {%- set text = re.sub(',\s*result\s*:', ", 'result',", text) -%}
    {%- set text = re.sub('\}', ')', text) -%}
    {%- set text = re.sub(',\s*$', '', text) -%}
    array({{ text }})
{%- endmacro %}

{#- Unit tests: dbt casts every expected value to its column's type. The map
    column rule_results is written in DuckDB's text of a map, `{k=v, k2=v2}`,
    which DuckDB casts from text; Spark casts no text to a map: read it with
    str_to_map. Anything else as dbt-spark does it. -#}
{% macro spark__safe_cast(field, type) -%}
    {%- if type.lower().startswith('map') and field is string and field.startswith("'{") and field.endswith("}'") -%}
        {%- set entries = field[2:-2] -%}
        {%- if entries | trim == '' -%}
            cast(map() as {{ type }})
        {%- else -%}
            cast(str_to_map('{{ entries }}', ', ', '=') as {{ type }})
        {%- endif -%}
    {%- else -%}
        {{ dbt_spark_safe_cast(field, type) }}
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's own spark__safe_cast (dbt/include/spark/macros/utils/safe_cast.sql), which the one above replaces. -#}
{% macro dbt_spark_safe_cast(field, type) -%}
    {%- set field_clean = field.strip('"').strip("'") if (type.lower().startswith('struct') or type.lower().startswith('array') or type.lower().startswith('map')) and field is string else field -%}
    cast({{ field_clean }} as {{ type }})
{%- endmacro %}
