{#- Identity rules of CONTRACT section 3 and 7, each in exactly one place. -#}

{#- Email: lower(trim(email)); empty is null. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Domain, in the contract's order: trim and lower-case; drop the scheme;
    drop everything from the first '/'; drop the port; drop one leading
    'www.'. Sub-domains stay. A literal dot is written `[.]`: `\.` would be
    an escape in a Spark string literal, leaving `.` (any character). -#}
{% macro normalize_domain(column) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(lower(trim({{ column }})), '^[^/]*://', ''),
                '/.*$', ''),
            ':.*$', ''),
        '^www[.]', ''),
    '')
{%- endmacro %}

{#- The domain part of an (already normalized) email. -#}
{% macro email_domain(email_column) -%}
    {{ normalize_domain("nullif(regexp_extract(" ~ email_column ~ ", '@([^@]*)$', 1), '')") }}
{%- endmacro %}

{#- Free text compared as a category (industry): lower-cased and trimmed. -#}
{% macro normalize_category(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- A lead is a person (CONTRACT s3): records sharing a normalized email are one
    person; a record without email is a person of its own. -#}
{% macro person_key(email_column, lead_id_column) -%}
    coalesce('email:' || {{ email_column }}, 'lead_id:' || {{ lead_id_column }})
{%- endmacro %}
