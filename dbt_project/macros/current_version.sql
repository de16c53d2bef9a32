{#- The current version of every record of a raw table: a record re-sent in a
    later file replaces the earlier one whole (latest loaded file wins; within
    a file the extract step already kept only the last row of a key).
    `_record_key` is computed once, by the extract step. With `through_file_id`,
    the version that was current once the files up to that id were loaded
    (what the last complete build saw). -#}
{% macro current_version(relation, through_file_id=none) -%}
    select * from {{ relation }}
    {%- if through_file_id is not none %}
    where _file_id <= {{ through_file_id }}
    {%- endif %}
    qualify row_number() over (partition by _record_key order by _file_id desc, _row_number desc) = 1
{%- endmacro %}
