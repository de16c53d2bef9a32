{#- No dbt packages here (dbt deps cannot reach the hub): the one generic test we need. -#}
{% test baton_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
