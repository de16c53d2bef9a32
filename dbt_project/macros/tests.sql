{#- No dbt packages here (dbt deps cannot reach the hub): the one generic test we need.

    baton_unique_combination: no two rows share the values of `columns` together,
    for a grain of several columns (a staging view holding several versions of a
    record, a deal x touch table). A column may be an SQL expression over the
    model's columns, for a key that is "this column, else that one"
    (stg_deal_contacts: the deal and its contact's lead_id, else email). Rows
    where a column is null count like any value: a null is part of the key. -#}
{% test baton_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
