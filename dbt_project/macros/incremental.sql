{#- The incremental strategy `change_set` (docs/incremental.md).

    Nightly builds rebuild only what the files loaded since the last complete
    build changed (docs/performance.md, "Incremental models").

    `baton run` records every complete build in `audit.dbt_builds` with the
    load ledger's last file id it included, and runs dbt with the var
    `baton_incremental`. An incremental model then deletes the keys its change
    set names and inserts them again, recomputed from the current inputs, in
    one transaction (the strategy below); keys that no longer exist are
    deleted and not re-inserted. Without the var (a hand-run `dbt build`), or
    on `--full-refresh`, an incremental model is rebuilt whole. `baton run`
    passes `--full-refresh` itself when what every key depends on changed: the
    rules, or the models' code.
    The file id is read from the warehouse, not passed as a var: a var whose
    value changes every night would make dbt parse the whole project again
    every night.

    A model uses it with

        config(materialized='incremental', incremental_strategy='change_set',
               unique_key='<key column>', meta={'change_set': '<change set macro>'})

    and filters the rows it computes with the same key and change set:
    `where {{ is_to_rebuild('<key column>', <change set macro>()) }}`. -#}

{#- dbt calls this (get_incremental_<strategy>_sql) for an incremental run of a
    model whose table exists (not on its first build, nor on --full-refresh:
    dbt then creates the table whole from the model's query). dbt has already
    written the model's rows to `temp_relation`; the delete and the insert run
    as one statement inside the transaction dbt commits after it. -#}
{% macro get_incremental_change_set_sql(arg_dict) -%}
    {%- set key_column = arg_dict['unique_key'] -%}
    {%- set change_set = (config.get('meta') or {}).get('change_set') -%}
    {%- if key_column is none or key_column is not string or change_set is none -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'change_set' needs unique_key (one column) and meta.change_set "
            ~ "(one of " ~ change_set_names() | join(', ') ~ ") in the config of " ~ this
        ) }}
    {%- endif -%}
    delete from {{ arg_dict['target_relation'] }}
    {%- if rebuilds_changes_only() %}
    where {{ key_column }} in ({{ change_set_query(change_set) }})
    {%- endif %};
    {{ get_insert_into_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['dest_columns']) }}
{%- endmacro %}

{#- The last load-ledger file id the last complete build included: what this
    build's change sets are measured from. None when this build rebuilds every
    incremental model whole (no var, --full-refresh, no complete build yet). -#}
{% macro built_through_file_id() -%}
    {%- if not execute or not var('baton_incremental', false) or flags.FULL_REFRESH
        or change_set_materialization() != 'incremental' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if adapter.get_relation(database=target.database, schema='audit', identifier='dbt_builds') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set last_build = run_query(
        "select built_through_file_id from audit.dbt_builds order by built_at desc limit 1"
    ) -%}
    {%- if last_build.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(last_build.rows[0][0] or 0) }}
{%- endmacro %}

{#- True when this model rebuilds only the keys of its change set. -#}
{% macro rebuilds_changes_only() -%}
    {{ return(not _in_unit_test() and is_incremental() and built_through_file_id() is not none) }}
{%- endmacro %}

{#- A filter on the rows an incremental model computes. -#}
{% macro is_to_rebuild(key_column, keys_query) -%}
    {%- if rebuilds_changes_only() -%}
        {{ key_column }} in ({{ keys_query }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The change sets, each computed once per build by its own model. A dbt
    unit test builds a model whole from its given rows: no change set is read
    (nor needs a given). -#}
{% macro _in_unit_test() -%}
    {{ return(model.resource_type == 'unit_test') }}
{%- endmacro %}

{#- `select <column> from <change set model>`; nothing in a unit test. -#}
{% macro _change_set(column, model_name) -%}
    {%- if _in_unit_test() -%} select null where false
    {%- else -%} select {{ column }} from {{ ref(model_name) }}
    {%- endif -%}
{%- endmacro %}

{% macro changed_person_keys() -%}
    {{ _change_set('person_key', 'int_lead_changes') }}
{%- endmacro %}

{% macro changed_lead_records() -%}
    {{ _change_set('record_lead_id', 'int_lead_changes') }}
{%- endmacro %}

{#- Lead records whose person changed: every lead_id such a person had or has
    (a person's lead_id is one of its records'). With a new accounts file every
    lead's firmographics may change, so every lead is rebuilt. -#}
{% macro changed_lead_ids() -%}
    {%- if _in_unit_test() -%} select null where false
    {%- else -%}
    select record_lead_id from {{ ref('int_lead_changes') }}
    union all
    select lead_id from {{ ref('int_persons') }}
    where exists (select 1 from {{ ref('stg_accounts') }} where _file_id > {{ built_through_file_id() or 0 }})
    {%- endif -%}
{%- endmacro %}

{% macro changed_deal_ids() -%}
    {{ _change_set('deal_id', 'int_deal_changes') }}
{%- endmacro %}

{#- Deals whose attribution may have changed: those whose touches may have; with
    a new campaigns file every touch's channel may change, so every deal. -#}
{% macro changed_attribution_deal_ids() -%}
    {%- if _in_unit_test() -%} select null where false
    {%- else -%}
    select deal_id from {{ ref('int_deal_changes') }}
    union all
    select deal_id from {{ ref('stg_deals') }}
    where exists (select 1 from {{ ref('stg_campaigns') }} where _file_id > {{ built_through_file_id() or 0 }})
    {%- endif -%}
{%- endmacro %}

{#- The change sets a model can name in meta.change_set, by name. -#}
{% macro change_set_names() -%}
    {{ return(['changed_person_keys', 'changed_lead_records', 'changed_lead_ids', 'changed_deal_ids', 'changed_attribution_deal_ids']) }}
{%- endmacro %}

{% macro change_set_query(name) -%}
    {%- if name == 'changed_person_keys' -%} {{ changed_person_keys() }}
    {%- elif name == 'changed_lead_records' -%} {{ changed_lead_records() }}
    {%- elif name == 'changed_lead_ids' -%} {{ changed_lead_ids() }}
    {%- elif name == 'changed_deal_ids' -%} {{ changed_deal_ids() }}
    {%- elif name == 'changed_attribution_deal_ids' -%} {{ changed_attribution_deal_ids() }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "unknown change set '" ~ name ~ "' in meta.change_set of " ~ this ~ " (one of " ~ change_set_names() | join(', ') ~ ")"
        ) }}
    {%- endif -%}
{%- endmacro %}
