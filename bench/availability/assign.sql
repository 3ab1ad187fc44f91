-- One assignment of a pt speaker, as the service calls it (pgbench script).
SELECT consultor_id FROM consultores_atribuir(ARRAY['pt'], now(), 'America/Sao_Paulo', NULL, 'bench', 'req', 'atribuicao', 'protocolo', NULL, NULL, NULL, 'da-vez');
