-- One account per normalized domain: where several accounts share a domain, the smallest account_id.
select
    domain,
    min(account_id) as account_id
from {{ ref('stg_accounts') }}
where domain is not null
group by domain
